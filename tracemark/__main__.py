from tracemark.cli import main

main()
